/**
 * All of standard input as text, without the one line break `echo` or a here-string adds. A password never comes
 * from the command line: that would show it in `ps` and in shell history.
 */
export async function readSecretFromStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString("utf8").replace(/\r?\n$/, "");
}
