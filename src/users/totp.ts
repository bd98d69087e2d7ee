import { generate, generateSecret, generateURI, verify } from 'otplib';

/**
 * RFC 6238 time-based one-time passwords through otplib: SHA-1, 6 digits, 30-second steps (what
 * authenticator apps expect), one step of clock drift either way, and each step accepted once.
 */
export function newTotpSecret(): string {
  return generateSecret(); // 20 random bytes, base32
}

export function totpUri(secret: string, username: string, issuer: string): string {
  return generateURI({ issuer, label: username, secret });
}

/** The time step the code belongs to when it is valid and newer than `lastStep`, else null. */
export async function acceptTotp(
  secret: string,
  code: string,
  lastStep: number | null,
): Promise<number | null> {
  if (!/^\d{6}$/.test(code)) return null;
  try {
    const result = await verify({
      secret,
      token: code,
      epochTolerance: 30,
      ...(lastStep !== null ? { afterTimeStep: lastStep } : {}),
    });
    // The TOTP strategy reports the matched step; the shared result type does not declare it.
    const step = (result as { timeStep?: number }).timeStep;
    return result.valid && typeof step === 'number' ? step : null;
  } catch {
    return null;
  }
}

/** The current code of a secret (tests and the CLI's enrolment check). */
export function currentTotp(secret: string): Promise<string> {
  return generate({ secret });
}
