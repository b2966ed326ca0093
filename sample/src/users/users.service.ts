import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { XemsService } from '../../../src';
import { decoyHash, hashPassword, verifyPassword } from './password.util';

/** The sandbox holding user records (key `user:<email>`), separate from every session. */
export const USERS_SANDBOX = 'users-registry';
// The sidecar keeps every record at most 5 days; the demo's accounts live that long
// (or until a restart, without persistence).
const USER_TTL = '5d';

interface UserRecord {
  id: string;
  email: string;
  name: string;
  passwordHash: string;
  createdAt: number;
}

/** What the rest of the app may see of a user: never the password hash. */
export interface PublicUser {
  id: string;
  email: string;
  name: string;
}

function userKey(email: string): string {
  return `user:${email.trim().toLowerCase()}`;
}

function toPublic(record: UserRecord): PublicUser {
  return { id: record.id, email: record.email, name: record.name };
}

@Injectable()
export class UsersService {
  constructor(private readonly xems: XemsService) {}

  private get store() {
    return this.xems.from(USERS_SANDBOX);
  }

  async register(email: string, name: string, password: string): Promise<PublicUser> {
    const key = userKey(email);
    // Not atomic (the demo has no set-if-absent); good enough for a single-user demo.
    if (await this.store.has(key)) throw new ConflictException('An account with this email already exists');
    const record: UserRecord = {
      id: randomUUID(),
      email: email.trim().toLowerCase(),
      name: name.trim(),
      passwordHash: await hashPassword(password),
      createdAt: Date.now(),
    };
    await this.store.set(key, record, USER_TTL);
    return toPublic(record);
  }

  /**
   * Moves the account to a new e-mail address (the record is keyed by it). Not atomic, like
   * register: good enough for the demo.
   */
  async changeEmail(oldEmail: string, newEmail: string): Promise<PublicUser> {
    const record = await this.store.get<UserRecord>(userKey(oldEmail));
    if (!record) throw new NotFoundException('No such account');
    const next = userKey(newEmail);
    if (next === userKey(oldEmail)) return toPublic(record);
    if (await this.store.has(next)) throw new ConflictException('An account with this email already exists');
    const moved: UserRecord = { ...record, email: newEmail.trim().toLowerCase() };
    await this.store.set(next, moved, USER_TTL);
    await this.store.del(userKey(oldEmail));
    return toPublic(moved);
  }

  /** The user if the password matches, else null; takes as long for an unknown email. */
  async authenticate(email: string, password: string): Promise<PublicUser | null> {
    const record = await this.store.get<UserRecord>(userKey(email));
    const ok = await verifyPassword(password, record?.passwordHash ?? (await decoyHash()));
    return record && ok ? toPublic(record) : null;
  }
}
