// The one route this page calls beyond @flowglad/react's own: a plan change's preview.
// flask-flowglad serves it next to the SDK's routes (it changes nothing upstream).

export async function previewAdjust(apiPrefix, params) {
  const response = await fetch(`${apiPrefix}/subscriptions/preview-adjust`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    credentials: "same-origin",
    body: JSON.stringify(params),
  });
  let body = null;
  try {
    body = await response.json();
  } catch {
    // not JSON: reported below as a failed request
  }
  if (!response.ok || !body || body.error) {
    throw new Error(body?.error?.message ?? `The preview failed (${response.status}).`);
  }
  return body.data;
}
