import 'reflect-metadata';
import type { Server } from 'node:http';
import { INestApplication, Module, UseGuards } from '@nestjs/common';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { Args, Context, Field, GraphQLModule, Mutation, ObjectType, Query, Resolver } from '@nestjs/graphql';
import { MercuriusDriver, type MercuriusDriverConfig } from '@nestjs/mercurius';
import request from 'supertest';
import {
  CsrfGuard,
  RequireFreshAuth,
  Session,
  SessionContext,
  SessionGuard,
  XemsModule,
  type XemsModuleOptions,
  XemsSandbox,
  XemsService,
  type XemsAuthMethod,
  type XemsSessionContext,
} from '../../src';
import { createPlatformApp } from './platforms';

/**
 * The GraphQL servers the suites run on: Apollo on Express, Apollo on Fastify
 * (@as-integrations/fastify), Mercurius on Fastify.
 */
export type GraphqlDriver = 'apollo' | 'apollo-fastify' | 'mercurius';
export const GRAPHQL_DRIVERS: readonly GraphqlDriver[] = ['apollo', 'apollo-fastify', 'mercurius'];

/** What each suite calls a driver in its titles. */
export const GRAPHQL_DRIVER_NAMES: Readonly<Record<GraphqlDriver, string>> = {
  apollo: 'Apollo on Express',
  'apollo-fastify': 'Apollo on Fastify',
  mercurius: 'Mercurius on Fastify',
};

/**
 * The GraphQL context: Apollo's on Express carries `req` and (with the context line) `res`,
 * Express's objects; Apollo's on Fastify (with its context line) and Mercurius's carry `req`
 * (FastifyRequest) and `reply` (FastifyReply).
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

/** Step-up: @RequireFreshAuth on resolvers, and the reauthentication after the prompt. */
@Resolver()
class StepUpResolver {
  constructor(private readonly xems: XemsService) {}

  /** Needs an authentication at most 2 s old (any method). */
  @Query(() => String)
  @RequireFreshAuth('2s')
  recentUser(@Session('user') user: string): string {
    return user;
  }

  /** Needs an authentication by passkey within the hour. */
  @Query(() => String)
  @RequireFreshAuth('1h', { methods: ['webauthn'] })
  passkeyUser(@Session('user') user: string): string {
    return user;
  }

  /** What the page calls once the user has typed the password (or used the passkey) again. */
  @Mutation(() => Boolean)
  @UseGuards(SessionGuard)
  async reauthenticate(@Args('methods', { type: () => [String] }) methods: string[], @Context() ctx: GqlContext): Promise<boolean> {
    const { req, res } = httpOf(ctx);
    return (await this.xems.reauthenticated(req, res, { methods: methods as XemsAuthMethod[] })) !== null;
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

/** Apollo's `context` line for its platform (the one README gives), or none. */
function apolloContext(driver: GraphqlDriver, withContext: boolean): Pick<ApolloDriverConfig, 'context'> {
  if (!withContext) return {};
  if (driver === 'apollo-fastify') return { context: (req: GqlContext['req'], reply: GqlContext['reply']) => ({ req, reply }) };
  return { context: ({ req, res }: GqlContext) => ({ req, res }) };
}

/**
 * A Nest app serving GraphQL, code first, with XemsModule and the real sidecar: Apollo on
 * Express or Fastify, or Mercurius on Fastify. `withContext: false` leaves out Apollo's
 * `context` line (the app a new user writes first). Apollo is told to send stacks, as it does
 * outside production.
 */
export async function createGraphqlApp(
  driver: GraphqlDriver,
  options: XemsModuleOptions = {},
  { withContext = true } = {},
): Promise<GraphqlTestApp> {
  const graphql: ApolloDriverConfig | MercuriusDriverConfig =
    driver === 'mercurius'
      ? { driver: MercuriusDriver, autoSchemaFile: true }
      : { driver: ApolloDriver, autoSchemaFile: true, includeStacktraceInErrorResponses: true, ...apolloContext(driver, withContext) };
  @Module({
    imports: [XemsModule.forRoot({ ...options, isGlobal: true }), GraphQLModule.forRoot(graphql)],
    providers: [AuthResolver, MeResolver, StepUpResolver, AdminResolver],
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
