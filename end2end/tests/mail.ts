// The emails the Handoff server sent during this run, as the test mail server of
// global-setup.ts received them: one JSON file per message in .e2e-data/mail/.
import fs from 'node:fs';
import path from 'node:path';

/** Where the test SMTP server listens (loopback); HANDOFF_E2E_SMTP_PORT moves it. */
export const SMTP_PORT = Number(process.env.HANDOFF_E2E_SMTP_PORT || 3125);
/** HANDOFF_SMTP_URL for the server under test: plain SMTP, no login. */
export const SMTP_URL = `smtp://127.0.0.1:${SMTP_PORT}?tls=none`;
/** Under the data dir, which the webServer command empties before every run. */
export const MAIL_DIR = path.resolve(__dirname, '..', '.e2e-data', 'mail');

/** One received email. */
export interface StoredMail {
  /** RCPT TO of the SMTP envelope, lower case. */
  envelopeTo: string[];
  /** MAIL FROM of the SMTP envelope. */
  envelopeFrom: string;
  /** Addresses of the To header, lower case. */
  to: string[];
  from: string;
  subject: string;
  /** The text/plain part. */
  text: string;
  /** The text/html part. */
  html: string;
  headers: Record<string, string>;
  receivedAt: string;
  /** The file it was read from (set by the reader). */
  file?: string;
}

/** Every email received so far, oldest first. */
export function allMail(): StoredMail[] {
  let names: string[] = [];
  try {
    names = fs.readdirSync(MAIL_DIR).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
  // Names start with the time received, then a counter: sorting them sorts by arrival.
  return names.sort().map((name) => {
    const file = path.join(MAIL_DIR, name);
    return { ...(JSON.parse(fs.readFileSync(file, 'utf8')) as StoredMail), file };
  });
}

/** The emails sent to `address` (envelope or To header), oldest first. */
export function mailTo(address: string): StoredMail[] {
  const want = address.toLowerCase();
  return allMail().filter((m) => m.envelopeTo.includes(want) || m.to.includes(want));
}

/**
 * Waits until the `count`-th email to `address` (1 = the first) has arrived, and returns it.
 * `subject` narrows the emails counted. The error lists what did arrive.
 */
export async function waitForMail(
  address: string,
  options: { count?: number; subject?: RegExp; timeoutMs?: number } = {},
): Promise<StoredMail> {
  const { count = 1, subject, timeoutMs = 20_000 } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = mailTo(address).filter((m) => !subject || subject.test(m.subject));
    if (found.length >= count) return found[count - 1];
    if (Date.now() > deadline) {
      const seen = allMail()
        .slice(-10)
        .map((m) => `  to ${m.envelopeTo.join(', ')}: "${m.subject}"`)
        .join('\n');
      throw new Error(
        `email #${count} to ${address}${subject ? ` with a subject like ${subject}` : ''} did not ` +
          `arrive in ${timeoutMs} ms (${found.length} did). Last emails received in ${MAIL_DIR}:\n` +
          (seen || '  (none: is HANDOFF_SMTP_URL set for the server, and did its outbox send?)'),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The portal sign-in link `http://HOST/p/{slug}/login/{token}` in an email's text part. */
export function signInLink(mail: StoredMail, slug: string): string {
  const escaped = slug.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const match = mail.text.match(new RegExp(`https?://[^\\s<>"]+/p/${escaped}/login/[A-Za-z0-9._~%-]+`));
  if (!match) {
    throw new Error(`no sign-in link for /p/${slug}/login/... in the text part of "${mail.subject}":\n${mail.text}`);
  }
  return match[0];
}
