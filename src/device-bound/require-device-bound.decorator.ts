import { type CustomDecorator, SetMetadata } from '@nestjs/common';

/** Metadata key of @RequireDeviceBound(). */
export const XEMS_REQUIRE_DEVICE_BOUND = 'xems:require-device-bound';

/**
 * For sensitive routes (with SessionGuard): only a session bound to its device (DBSC, the
 * `deviceBound` option) passes; any other session gets 403, so a browser without DBSC (or with
 * `deviceBound` off) cannot reach the route. On a handler or a controller.
 */
export function RequireDeviceBound(): CustomDecorator<string> {
  return SetMetadata(XEMS_REQUIRE_DEVICE_BOUND, true);
}
