/** One email: a plain-text part and an HTML part. */
export type MailMessage = { to: string; subject: string; text: string; html: string };

/** The port every delivery channel implements. `send` rejects when the message was not accepted. */
export type Mailer = { send(message: MailMessage): Promise<void>; close(): Promise<void> };
