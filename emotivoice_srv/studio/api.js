// Calls to the server's own API (same origin only), with the API key from localStorage when the server
// has keys. Every failure becomes an ApiError carrying the JSON error body's code and message.

const KEY_STORAGE = "emotivoice.apiKey";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export const apiKey = {
  get: () => localStorage.getItem(KEY_STORAGE) || "",
  set: (key) => key ? localStorage.setItem(KEY_STORAGE, key) : localStorage.removeItem(KEY_STORAGE),
};

/** Throw the response's JSON error (or a generic one) unless it is a success. */
export async function checked(response) {
  if (response.ok) return response;
  let code = "http_" + response.status, message = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    if (body && body.error) ({ code, message } = body.error);
  } catch (_) { /* not JSON: keep the status line */ }
  throw new ApiError(response.status, code, message);
}

/** fetch() against this server with the key; throws ApiError (a network failure included). */
export async function api(path, { method = "GET", json, form, signal } = {}) {
  const headers = {};
  const key = apiKey.get();
  if (key) headers.Authorization = "Bearer " + key;
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = form;
  }
  let response;
  try {
    response = await fetch(path, { method, headers, body, signal, cache: "no-store" });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, "network", "the server cannot be reached: " + err.message);
  }
  return checked(response);
}

export const getJson = async (path) => (await api(path)).json();
