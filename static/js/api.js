// The JSON API under /api/ with the session cookie: X-CSRFToken on unsafe methods, an
// Idempotency-Key on every gold-moving request, errors as ApiError with the envelope's code.
import { uuid } from "./ui.js";

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

function cookie(name) {
  for (const part of document.cookie.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return "";
}

// options: {method, body, idempotencyKey}: pass idempotencyKey: true for a new UUID, or a string
// to retry the same action with the same key.
export async function api(path, { method = "GET", body, idempotencyKey } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (!["GET", "HEAD", "OPTIONS"].includes(method)) headers["X-CSRFToken"] = cookie("csrftoken");
  if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey === true ? uuid() : idempotencyKey;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
  } catch (error) {
    throw new ApiError(0, "network_error", String(error), null);
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const envelope = (data && data.error) || {};
    throw new ApiError(
      response.status,
      envelope.code || "error",
      envelope.message || response.statusText,
      envelope.details || null,
    );
  }
  return data;
}

export const post = (path, body = {}, { idempotent = false } = {}) =>
  api(path, { method: "POST", body, idempotencyKey: idempotent });
