/** Sandbox of the pending logins waiting for their one-time code. */
export const OTP_SANDBOX = 'otp-pending';
export const OTP_TTL = '15m';
export const OTP_TTL_MS = 15 * 60_000;
/** Wrong codes allowed before the pending login is deleted. */
export const OTP_MAX_ATTEMPTS = 5;

/** Data of a pending login (otp-pending sandbox). */
export interface PendingLogin {
  id: string;
  email: string;
  name: string;
  code: string;
  /** Random id naming this login attempt's wrong-code counter. */
  challenge: string;
}

/** Data of an active session (the module's default sandbox). */
export interface ActiveSession {
  userId: string;
  email: string;
  name: string;
  loginAt: number;
}
