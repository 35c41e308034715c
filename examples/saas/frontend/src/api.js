// The routes this page calls beyond @flowglad/react's own; flask-flowglad serves them next
// to the SDK's, in the same {data, error} envelope.

// What a plan change would charge, changing nothing.
export async function previewAdjust(apiPrefix, params) {
  return post(apiPrefix, "subscriptions/preview-adjust", params);
}

async function post(apiPrefix, action, params) {
  const response = await fetch(`${apiPrefix}/${action}`, {
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
    throw new Error(body?.error?.message ?? `The request failed (${response.status}).`);
  }
  return body.data;
}

// Undo a plan change scheduled for the end of the period (beyond @flowglad/react too).
export async function cancelScheduledAdjustment(apiPrefix, subscriptionId) {
  return post(apiPrefix, "subscriptions/cancel-scheduled-adjustment", { subscriptionId });
}
