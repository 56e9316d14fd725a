// The WebSocket API (protocol 2.0) for pushes. A browser cannot set headers on a WebSocket and a
// token in a URL can end up in a proxy's log, so the connection authenticates with its first
// message. It heartbeats every 30 s, reconnects with exponential backoff and jitter, and then
// subscribes again and tells the console to read its state afresh (the console shows states, so a
// fresh read covers whatever was missed while away).

export type LiveState = "connecting" | "live" | "reconnecting" | "closed";

export interface LiveEvent {
  event_type: string;
  message_id: string;
  data: Record<string, unknown>;
}

interface Pending {
  resolve: (result: unknown) => void;
  reject: (error: Error) => void;
}

const PROTOCOL = "2.0";
const HEARTBEAT_MS = 30_000;
const MAX_BACKOFF_MS = 30_000;
/** The server's limits: 20 topics a request, 100 a connection. */
const TOPICS_PER_REQUEST = 20;
export const MAX_TOPICS = 100;

export class Live {
  state: LiveState = "closed";
  private socket: WebSocket | null = null;
  private pending = new Map<string, Pending>();
  private topics = new Set<string>();
  private counter = 0;
  private attempt = 0;
  private heartbeat: number | undefined;
  private stopped = false;
  /** Messages received and refused, for the status line. */
  received = 0;
  errors = 0;
  /** Why the server refused the credentials, when it did. */
  refusal: string | null = null;

  constructor(
    private readonly url: string,
    private readonly token: string,
    private readonly onEvent: (event: LiveEvent) => void,
    private readonly onState: (state: LiveState, reconnected: boolean) => void,
  ) {}

  start(): void {
    this.stopped = false;
    this.open(false);
  }

  stop(): void {
    this.stopped = true;
    window.clearInterval(this.heartbeat);
    this.socket?.close(1000, "signed out");
    this.setState("closed", false);
  }

  /** Subscribes to the topics not subscribed yet (at most MAX_TOPICS in all); resolves with those taken. */
  async subscribe(topics: string[]): Promise<string[]> {
    const fresh = topics.filter((t) => !this.topics.has(t)).slice(0, MAX_TOPICS - this.topics.size);
    fresh.forEach((t) => this.topics.add(t));
    if (this.state === "live") {
      await this.sendTopics(fresh);
    }
    return fresh;
  }

  /** A request over the connection, answered by its response's `result`. */
  request<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId("req");
    return new Promise<T>((resolve, reject) => {
      if (!this.socket || this.state !== "live") {
        reject(new Error("the WebSocket is not connected"));
        return;
      }
      this.pending.set(id, { resolve: resolve as (r: unknown) => void, reject });
      this.send({ message_type: "request", message_id: id, method, params });
      window.setTimeout(() => {
        if (this.pending.delete(id)) reject(new Error(`${method}: no answer in 15 s`));
      }, 15_000);
    });
  }

  private nextId(prefix: string): string {
    this.counter += 1;
    return `${prefix}-${this.counter}`;
  }

  private send(message: Record<string, unknown>): void {
    this.socket?.send(JSON.stringify({ protocol_version: PROTOCOL, ...message }));
  }

  private setState(state: LiveState, reconnected: boolean): void {
    this.state = state;
    this.onState(state, reconnected);
  }

  private open(reconnecting: boolean): void {
    this.setState(reconnecting ? "reconnecting" : "connecting", false);
    const socket = new WebSocket(this.url);
    this.socket = socket;
    let welcomed = false;
    let refused: string | null = null;
    socket.onopen = () => socket.send(JSON.stringify({ type: "auth", token: this.token }));
    socket.onmessage = (raw) => {
      this.received += 1;
      let message: Record<string, unknown>;
      try {
        message = JSON.parse(String(raw.data)) as Record<string, unknown>;
      } catch {
        this.errors += 1;
        return;
      }
      const kind = message["message_type"];
      if (kind === "event" && message["event_type"] === "welcome") {
        welcomed = true;
        this.attempt = 0;
        this.setState("live", reconnecting);
        void this.sendTopics([...this.topics]);
        window.clearInterval(this.heartbeat);
        this.heartbeat = window.setInterval(
          () => this.send({ message_type: "heartbeat", message_id: this.nextId("hb") }),
          HEARTBEAT_MS,
        );
      } else if (kind === "event") {
        this.onEvent(message as unknown as LiveEvent);
      } else if (kind === "response") {
        const waiting = this.pending.get(String(message["request_id"]));
        this.pending.delete(String(message["request_id"]));
        waiting?.resolve(message["result"]);
      } else if (kind === "error") {
        this.errors += 1;
        if (!welcomed) {
          refused = `${String(message["error_code"])}: ${String(message["error_message"])}`;
        }
        const waiting = this.pending.get(String(message["request_id"]));
        this.pending.delete(String(message["request_id"]));
        waiting?.reject(new Error(`${String(message["error_code"])}: ${String(message["error_message"])}`));
      }
    };
    socket.onclose = () => {
      window.clearInterval(this.heartbeat);
      this.pending.forEach((p) => p.reject(new Error("the WebSocket closed")));
      this.pending.clear();
      if (this.stopped) return;
      if (refused !== null) {
        // Refused credentials: retrying cannot help.
        this.refusal = refused;
        this.setState("closed", false);
        return;
      }
      this.attempt += 1;
      const ceiling = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.min(this.attempt - 1, 5));
      const delay = ceiling / 2 + Math.random() * (ceiling / 2);
      this.setState("reconnecting", false);
      window.setTimeout(() => this.open(true), delay);
    };
  }

  private async sendTopics(topics: string[]): Promise<void> {
    for (let i = 0; i < topics.length; i += TOPICS_PER_REQUEST) {
      const chunk = topics.slice(i, i + TOPICS_PER_REQUEST);
      try {
        await this.request("subscribe", { topics: chunk });
      } catch {
        // A topic that names nothing any more (a finished task's expired, a deleted resource) is
        // refused with the rest of its request: subscribe the others one by one.
        for (const topic of chunk) {
          await this.request("subscribe", { topics: [topic] }).catch(() => this.topics.delete(topic));
        }
      }
    }
  }
}
