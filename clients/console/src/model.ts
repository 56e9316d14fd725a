// What the API answers, as far as the console reads it.

export interface Agent {
  agent_id: string;
  name: string;
  type: string;
  capabilities: string[];
  status: "active" | "stale" | "inactive";
  reported_status: string;
  current_load: number;
  last_heartbeat: string;
  change?: "registered" | "heartbeat" | "deleted";
}

export interface Stage {
  name: string;
  type: string;
  required: boolean;
  timeout: number;
  retry_count: number;
  depends_on: number[];
}

export interface Pipeline {
  pipeline_id: string;
  name: string;
  description: string;
  stages: Stage[];
  created_at: string;
}

export type StageStatus =
  | "waiting"
  | "pending"
  | "assigned"
  | "running"
  | "retrying"
  | "completed"
  | "failed"
  | "cancelled";

export interface StageRun {
  name: string;
  type: string;
  status: StageStatus;
  attempts: number;
  task_id: string | null;
  agent_id: string | null;
  started_at: string | null;
  finished_at: string | null;
  error: string | null;
  depends_on: number[];
}

export interface Execution {
  execution_id: string;
  pipeline_id: string;
  pipeline_name: string;
  status: "running" | "succeeded" | "failed" | "cancelled";
  progress: number;
  created_at: string;
  finished_at: string | null;
  error: { stage: string; message: string } | null;
  stages: StageRun[];
}

export interface LogLine {
  timestamp: string;
  level: string;
  message: string;
}

export interface Task {
  task_id: string;
  type: string;
  status: string;
  created_at: string;
  model_id?: string | null;
  context_id?: string | null;
  stage?: string | null;
  progress?: number | null;
  logs?: LogLine[];
  error?: unknown;
}

export interface Context {
  context_id: string;
  created_at: string;
  model_id?: string | null;
  user_id?: string | null;
}

/** The `pipeline_progress` event's data. */
export interface Progress {
  pipeline_id: string;
  execution_id: string;
  status: Execution["status"];
  progress: number;
  error: Execution["error"];
  stage?: { index: number; name: string; status: StageStatus; attempts: number; agent_id: string | null; task_id: string | null; error: string | null };
}
