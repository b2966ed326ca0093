import { SetMetadata } from '@nestjs/common';
import { XEMS_SANDBOX_METADATA } from './xems.constants';
import { XEMS_LIMITS } from './xems.defaults';
import { XemsConfigError } from './xems.errors';

/**
 * Resolves the sessions of a handler or controller in `sandbox` instead of the module's
 * default sandbox. A token from another sandbox is refused there (401).
 */
export function XemsSandbox(sandbox: string): ClassDecorator & MethodDecorator {
  if (typeof sandbox !== 'string' || !XEMS_LIMITS.sandboxPattern.test(sandbox)) {
    throw new XemsConfigError(
      '@XemsSandbox()',
      `${JSON.stringify(sandbox)} is not a valid sandbox name`,
      'Use 1-64 characters from A-Z a-z 0-9 . _ : -',
    );
  }
  return SetMetadata(XEMS_SANDBOX_METADATA, sandbox);
}
