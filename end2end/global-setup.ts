// Waits (bounded) until the server that `cargo leptos end-to-end` started answers /healthz.
const baseURL = process.env.TOPCLUCK_URL ?? "http://127.0.0.1:3000";
const deadlineMs = 120_000;

export default async function globalSetup(): Promise<void> {
  const started = Date.now();
  let lastError = "";
  while (Date.now() - started < deadlineMs) {
    try {
      const response = await fetch(`${baseURL}/healthz`);
      if (response.ok) return;
      lastError = `HTTP ${response.status}`;
    } catch (error) {
      lastError = String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`server at ${baseURL} not healthy after ${deadlineMs} ms: ${lastError}`);
}
