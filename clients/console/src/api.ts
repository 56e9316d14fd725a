// The REST API, with the signed-in credential: an API key (`mcpf_…`) as `X-API-Key`, anything else
// as a bearer JWT. A refused request throws an ApiFailure carrying the envelope's code, message and
// request id, which the console shows as they are.

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId: string | null,
  ) {
    super(message);
  }

  /** What the console shows: the envelope's message, its code and the request id. */
  describe(): string {
    const id = this.requestId ? ` (request ${this.requestId})` : "";
    return `${this.code}: ${this.message}${id}`;
  }
}

export class Api {
  constructor(
    readonly base: string,
    private readonly token: string,
  ) {}

  private headers(): Record<string, string> {
    return this.token.startsWith("mcpf_")
      ? { "x-api-key": this.token }
      : { authorization: `Bearer ${this.token}` };
  }

  async get<T>(path: string): Promise<T> {
    return this.send<T>("GET", path);
  }

  async post<T>(path: string, body: unknown): Promise<T> {
    return this.send<T>("POST", path, body);
  }

  private async send<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = this.headers();
    const init: RequestInit = { method, headers };
    if (body !== undefined) {
      headers["content-type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response: Response;
    try {
      response = await fetch(this.base + path, init);
    } catch (e) {
      throw new ApiFailure(0, "NETWORK_ERROR", `${this.base} cannot be reached: ${String(e)}`, null);
    }
    const text = await response.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = null;
    }
    if (!response.ok) {
      const envelope = parsed as { error?: { code?: string; message?: string }; request_id?: string } | null;
      throw new ApiFailure(
        response.status,
        envelope?.error?.code ?? `HTTP_${response.status}`,
        envelope?.error?.message ?? (text.slice(0, 200) || response.statusText),
        envelope?.request_id ?? response.headers.get("x-request-id"),
      );
    }
    return parsed as T;
  }
}
