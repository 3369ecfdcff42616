// The test mail server: an SMTP server on loopback that accepts every message the Handoff server
// sends (HANDOFF_SMTP_URL in playwright.config.ts points at it), parses it and writes it as JSON
// into .e2e-data/mail/, where tests read it (tests/mail.ts). Files, because globalSetup runs in
// the runner process and the tests in worker processes.
//
// Playwright starts the webServer before globalSetup. That is fine: the Handoff server only sends
// email when a test makes it (a join, a sign-in request), and no test runs before this setup has
// returned; an email that failed anyway would be retried by the server's outbox.
import fs from 'node:fs';
import path from 'node:path';
import { simpleParser, type AddressObject } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { MAIL_DIR, SMTP_PORT, type StoredMail } from './tests/mail';

function addresses(field: AddressObject | AddressObject[] | undefined): string[] {
  const list = field === undefined ? [] : Array.isArray(field) ? field : [field];
  return list.flatMap((a) => a.value.map((v) => (v.address ?? '').toLowerCase()));
}

let counter = 0;

/** Writes `mail` atomically (a temporary name, then rename) so a reader never sees half of it. */
function store(mail: StoredMail): void {
  // The webServer command empties .e2e-data before each run: make the folder on every write.
  fs.mkdirSync(MAIL_DIR, { recursive: true });
  counter += 1;
  const name = `${Date.now()}-${process.pid}-${String(counter).padStart(5, '0')}`;
  const tmp = path.join(MAIL_DIR, `.${name}.tmp`);
  fs.writeFileSync(tmp, JSON.stringify(mail, null, 2));
  fs.renameSync(tmp, path.join(MAIL_DIR, `${name}.json`));
}

export default async function globalSetup(): Promise<() => Promise<void>> {
  const server = new SMTPServer({
    // Plain SMTP on loopback (HANDOFF_SMTP_URL has ?tls=none); no login.
    secure: false,
    disabledCommands: ['STARTTLS', 'AUTH'],
    authOptional: true,
    logger: false,
    size: 10 * 1024 * 1024,
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((parsed) => {
          const headers: Record<string, string> = {};
          for (const line of parsed.headerLines) headers[line.key] = line.line;
          store({
            envelopeTo: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
            envelopeFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: addresses(parsed.to),
            from: parsed.from?.text ?? '',
            subject: parsed.subject ?? '',
            text: parsed.text ?? '',
            html: typeof parsed.html === 'string' ? parsed.html : '',
            headers,
            receivedAt: new Date().toISOString(),
          });
          callback();
        })
        .catch((err: Error) => {
          console.error(`[e2e smtp] could not read a message: ${err}`);
          callback(err);
        });
    },
  });
  server.on('error', (err) => console.error(`[e2e smtp] ${err}`));

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'EADDRINUSE'
          ? new Error(
              `[e2e smtp] port ${SMTP_PORT} is taken: stop what listens there, or set HANDOFF_E2E_SMTP_PORT`,
            )
          : err,
      );
    };
    server.server.once('error', onError);
    server.listen(SMTP_PORT, '127.0.0.1', () => {
      server.server.off('error', onError);
      resolve();
    });
  });

  // Returned function = global teardown.
  return () => new Promise<void>((resolve) => server.close(() => resolve()));
}
