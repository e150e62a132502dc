const LOOPBACK_HOSTS = ["localhost", "127.0.0.1", "[::1]"];

/**
 * The browser origins APP_URL stands for. A loopback APP_URL (the development default, http://localhost:3000) is
 * the same server under each loopback name, so a page it serves opened at http://127.0.0.1:3000 (the /docs
 * reference) may post to it. Only loopback names, same scheme and port: such an Origin comes only from a page served
 * on this machine at that port, and DNS rebinding cannot produce one (its Origin carries the rebound name).
 */
export function appOrigins(appUrl: string): string[] {
  const url = new URL(appUrl);
  if (!LOOPBACK_HOSTS.includes(url.hostname)) return [url.origin];
  const port = url.port === "" ? "" : `:${url.port}`;
  return LOOPBACK_HOSTS.map((host) => `${url.protocol}//${host}${port}`);
}
