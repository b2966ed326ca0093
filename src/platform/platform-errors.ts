import { XemsError } from '../xems.errors';

/** A caller passed something other than the platform's response to a method that writes the token. */
export function notAResponse(platform: string, method: string, parameter: string): XemsError {
  return new XemsError(
    'NOT_A_RESPONSE',
    `${method} was given something that is not a ${platform} response: the token could not be written`,
    `Pass the response Nest gives the handler, e.g. ${parameter}.`,
  );
}
