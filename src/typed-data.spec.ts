import 'reflect-metadata';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from 'class-transformer';
import { IsInt, IsString, Min, ValidateNested } from 'class-validator';
import { assertSchema, checkSchema } from './typed-data';
import { XemsValidationError } from './xems.errors';

class Address {
  @IsString()
  city!: string;
}

class Profile {
  @IsString()
  name!: string;

  @IsInt()
  @Min(0)
  age!: number;

  @ValidateNested()
  @Type(() => Address)
  address!: Address;
}

describe('typed data', () => {
  it('builds an instance, nested objects included, and validates it', () => {
    const r = checkSchema({ schema: Profile }, { name: 'a', age: 3, address: { city: 'x' } });
    assert.ok(r.ok);
    assert.ok(r.value instanceof Profile);
    assert.ok(r.value.address instanceof Address);
  });

  it('names failing properties (nested paths too) and never their values', () => {
    const r = checkSchema({ schema: Profile }, { name: 'SECRET', age: -1, address: { city: 42 } });
    assert.equal(r.ok, false);
    const text = (r as { problems: string[] }).problems.join('; ');
    assert.match(text, /age \(min\)/);
    assert.match(text, /address\.city \(isString\)/);
    assert.doesNotMatch(text, /SECRET|-1|42/);
  });

  it('refuses non-objects and passes validator options', () => {
    for (const v of [null, 'x', 3, [1], undefined]) assert.equal(checkSchema({ schema: Profile }, v).ok, false, String(v));
    const extra = { name: 'a', age: 1, address: { city: 'x' }, other: 1 };
    assert.equal(checkSchema({ schema: Profile }, extra).ok, true);
    assert.equal(checkSchema({ schema: Profile, validator: { whitelist: true, forbidNonWhitelisted: true } }, extra).ok, false);
  });

  it('never lets a __proto__ or constructor key reach a prototype', () => {
    const hostile = JSON.parse(
      '{"name":"a","address":{"city":"x"},"__proto__":{"age":5,"polluted":1},"constructor":{"prototype":{"polluted":1}}}',
    );
    const r = checkSchema({ schema: Profile }, hostile);
    assert.equal(r.ok, false, 'age is missing: the __proto__ key did not supply it');
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal((Profile.prototype as unknown as Record<string, unknown>).polluted, undefined);
  });

  it('assertSchema throws XemsValidationError INVALID_DATA, and does nothing without a schema', () => {
    assert.throws(
      () => assertSchema({ schema: Profile }, { name: 1 }, 'session data'),
      (e: unknown) => e instanceof XemsValidationError && e.code === 'INVALID_DATA' && /Profile/.test(e.message),
    );
    assertSchema(undefined, { anything: true }, 'value');
    assertSchema({ schema: Profile }, Object.assign(new Profile(), { name: 'n', age: 1, address: { city: 'c' } }), 'value');
  });
});
