import 'reflect-metadata';
import type { Server } from 'node:http';
import { INestApplication, Module, UseGuards } from '@nestjs/common';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { Args, Context, Field, GraphQLModule, Mutation, ObjectType, Query, Resolver } from '@nestjs/graphql';
import { MercuriusDriver, type MercuriusDriverConfig } from '@nestjs/mercurius';
import request from 'supertest';
import {
  CsrfGuard,
  Session,
  SessionContext,
  SessionGuard,
  XemsModule,
  type XemsModuleOptions,
  XemsSandbox,
  XemsService,
  type XemsSessionContext,
} from '../../src';
import { createPlatformApp } from './platforms';

/** The GraphQL servers the suites run on: Apollo on Express, Mercurius on Fastify. */
export type GraphqlDriver = 'apollo' | 'mercurius';
export const GRAPHQL_DRIVERS: readonly GraphqlDriver[] = ['apollo', 'mercurius'];

/**
 * The GraphQL context: Apollo's carries `req` and (with the context line) `res`, Express's
 * objects; Mercurius's carries `req` (FastifyRequest) and `reply` (FastifyReply).
 */
type GqlContext = {
  req: Parameters<XemsService['link']>[0];
  res?: Parameters<XemsService['link']>[1];
  reply?: Parameters<XemsService['link']>[1];
};

/** What the resolvers pass to link/unlink: the request and the response (Apollo's `res`, Mercurius's `reply`). */
const httpOf = (ctx: GqlContext) => ({ req: ctx.req, res: (ctx.res ?? ctx.reply)! });

@ObjectType()
class Me {
  @Field()
  user!: string;

  @Field()
  email!: string;

  @Field()
  sessionId!: string;

  @Field()
  rotated!: boolean;
}

@ObjectType()
class Login {
  @Field()
  sessionId!: string;

  @Field()
  csrf!: string;
}

@Resolver()
class AuthResolver {
  constructor(private readonly xems: XemsService) {}

  @Query(() => String)
  ping(): string {
    return 'pong';
  }

  @Mutation(() => Login)
  async login(
    @Args('user') user: string,
    @Args('sandbox', { type: () => String, nullable: true }) sandbox: string | null,
    @Context() ctx: GqlContext,
  ): Promise<Login> {
    const { req, res } = httpOf(ctx);
    await this.xems.link(req, res, { user, email: `${user}@example.test` }, { userId: user, sandbox: sandbox ?? undefined });
    return { sessionId: this.xems.getSessionContext(ctx.req)!.id, csrf: this.xems.csrfToken(ctx.req)! };
  }
}

@Resolver()
@UseGuards(SessionGuard)
class MeResolver {
  constructor(private readonly xems: XemsService) {}

  @Query(() => Me)
  me(@Session() session: { user: string }, @Session('email') email: string, @SessionContext() context: XemsSessionContext): Me {
    return { user: session.user, email, sessionId: context.id, rotated: context.rotated };
  }

  @Mutation(() => Boolean)
  async logout(@Context() ctx: GqlContext): Promise<boolean> {
    const { req, res } = httpOf(ctx);
    await this.xems.unlink(req, res);
    return true;
  }

  @Mutation(() => String)
  @UseGuards(CsrfGuard)
  async changeEmail(@Args('email') email: string, @Session() session: { user: string }, @Context() ctx: GqlContext): Promise<string> {
    await this.xems.updateSession(ctx.req, { ...session, email });
    return email;
  }

  /** `req.user` as the passport option filled it (JSON), or "null". */
  @Query(() => String)
  passportUser(@Context() ctx: GqlContext): string {
    return JSON.stringify((ctx.req as { user?: unknown }).user ?? null);
  }

  @Query(() => String)
  @UseGuards(CsrfGuard)
  csrfFreeQuery(@Session('user') user: string): string {
    return user;
  }
}

@Resolver()
@XemsSandbox('admin')
@UseGuards(SessionGuard)
class AdminResolver {
  @Query(() => String)
  adminUser(@Session('user') user: string): string {
    return user;
  }
}

export interface GraphqlTestApp {
  app: INestApplication;
  xems: XemsService;
  server: Server;
  close(): Promise<void>;
}

/**
 * A Nest app serving GraphQL, code first, with XemsModule and the real sidecar: Apollo on
 * Express or Mercurius on Fastify. `withContext: false` leaves out Apollo's `context` line (the
 * app a new user writes first). Apollo is told to send stacks, as it does outside production.
 */
export async function createGraphqlApp(
  driver: GraphqlDriver,
  options: XemsModuleOptions = {},
  { withContext = true } = {},
): Promise<GraphqlTestApp> {
  const graphql: ApolloDriverConfig | MercuriusDriverConfig =
    driver === 'apollo'
      ? {
          driver: ApolloDriver,
          autoSchemaFile: true,
          includeStacktraceInErrorResponses: true,
          ...(withContext ? { context: ({ req, res }: GqlContext) => ({ req, res }) } : {}),
        }
      : { driver: MercuriusDriver, autoSchemaFile: true };
  @Module({
    imports: [XemsModule.forRoot({ ...options, isGlobal: true }), GraphQLModule.forRoot(graphql)],
    providers: [AuthResolver, MeResolver, AdminResolver],
  })
  class GraphqlTestModule {}

  const logger = process.env.XEMS_TEST_LOGS ? undefined : false;
  const app = await createPlatformApp(GraphqlTestModule, driver === 'apollo' ? 'express' : 'fastify', { logger });
  await app.listen(0, '127.0.0.1');
  return { app, xems: app.get(XemsService), server: app.getHttpServer() as Server, close: () => app.close() };
}

/** One GraphQL operation over real HTTP (POST /graphql, JSON), with the given extra headers. */
export function gql(server: Server, query: string, headers: Record<string, string> = {}): request.Test {
  const req = request(server).post('/graphql').set('Content-Type', 'application/json');
  for (const [name, value] of Object.entries(headers)) req.set(name, value);
  return req.send({ query });
}

/** The `extensions.code` of each error of a GraphQL response body. */
export function errorCodes(body: { errors?: { extensions?: { code?: string } }[] }): (string | undefined)[] {
  return (body.errors ?? []).map((e) => e.extensions?.code);
}

/** A stack frame ("    at fn (file.js:1:2)") anywhere in a response body. */
export const STACK_FRAME = /\bat [^"]*\.(js|ts):\d+/;
