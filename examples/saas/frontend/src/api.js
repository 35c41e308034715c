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

// A checkout session of the customer, as Flowglad has it: "succeeded" once paid.
export async function retrieveCheckoutSession(apiPrefix, id) {
  return post(apiPrefix, "checkout-sessions/retrieve", { id });
}

// The app's own routes for a change of billing interval (monthly to yearly): a new plan
// through checkout, since Flowglad keeps a subscription's interval when it is adjusted.
export async function previewIntervalChange(priceSlug) {
  return postJson("/billing/interval/preview", { priceSlug });
}

export async function startIntervalChange(priceSlug) {
  return postJson("/billing/interval", { priceSlug });
}

async function postJson(url, params) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    credentials: "same-origin",
    body: JSON.stringify(params),
  });
  const body = await response.json().catch(() => null);
  if (!response.ok || !body) throw new Error(body?.error ?? `The request failed (${response.status}).`);
  return body;
}

// The checkout the customer was sent to, kept across the hosted page.
const CHECKOUT_KEY = "flowgladCheckoutSession";
export const rememberCheckout = (id) => window.sessionStorage.setItem(CHECKOUT_KEY, id);
export const rememberedCheckout = () => window.sessionStorage.getItem(CHECKOUT_KEY);
export const forgetCheckout = () => window.sessionStorage.removeItem(CHECKOUT_KEY);
