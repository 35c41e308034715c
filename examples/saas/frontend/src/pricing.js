// Small readers over the billing payload's pricing model (plain data, no React).
import { humanReadableCurrencyAmount } from "@flowglad/react";

const BUYABLE = new Set(["subscription", "single_payment"]);

/** The prices of a product that a customer can check out, the default one first. */
export function buyablePrices(product) {
  const prices = (product.prices ?? []).filter((p) => p.active !== false && BUYABLE.has(p.type));
  return prices.sort((a, b) => Number(Boolean(b.isDefault)) - Number(Boolean(a.isDefault)));
}

/** Products worth a plan card: those with a price a customer can check out. */
export function planProducts(pricingModel) {
  return (pricingModel?.products ?? []).filter((p) => p.active !== false && buyablePrices(p).length);
}

export function formatCount(value) {
  return typeof value === "number" ? value.toLocaleString("en-US") : String(value ?? "");
}

export function productOfPrice(pricingModel, priceId) {
  return (pricingModel?.products ?? []).find((p) => (p.prices ?? []).some((pr) => pr.id === priceId));
}

/** The product behind a subscription, found through its price. */
export function productOfSubscription(pricingModel, subscription) {
  if (!subscription) return null;
  const ids = [subscription.priceId, ...(subscription.subscriptionItems ?? []).map((i) => i.priceId)];
  for (const id of ids) {
    const product = id && productOfPrice(pricingModel, id);
    if (product) return product;
  }
  return null;
}

export function priceLabel(price) {
  if (!price) return "";
  const amount = humanReadableCurrencyAmount((price.currency ?? "usd").toUpperCase(), price.unitPrice ?? 0);
  if (price.type === "subscription") {
    const count = price.intervalCount ?? 1;
    const unit = price.intervalUnit ?? "month";
    return count === 1 ? `${amount} / ${unit}` : `${amount} every ${count} ${unit}s`;
  }
  if (price.type === "single_payment") return `${amount} once`;
  return amount;
}

export function formatDate(value) {
  if (value === null || value === undefined) return "";
  return new Date(value).toLocaleDateString("en-US", { year: "numeric", month: "short", day: "numeric" });
}

/** Flowglad's subscription statuses as a person would say them. */
const STATUS_LABELS = {
  active: "Active",
  trialing: "Trial",
  past_due: "Payment overdue",
  unpaid: "Unpaid",
  cancellation_scheduled: "Cancels at period end",
  canceled: "Canceled",
  incomplete: "Incomplete",
  incomplete_expired: "Expired",
  paused: "Paused",
  credit_trial: "Credit trial",
};

export function statusLabel(status) {
  if (!status) return "";
  return STATUS_LABELS[status] ?? status.replaceAll("_", " ");
}

/** The product's other recurring prices the current plan could switch to (monthly ↔ yearly). */
export function switchablePrices(product, subscription) {
  if (!product || !subscription || product.default) return [];
  return buyablePrices(product).filter((p) => p.type === "subscription" && p.id !== subscription.priceId);
}

/** A money amount in the price's currency, from minor units. */
export function formatAmount(amount, currency) {
  return humanReadableCurrencyAmount((currency ?? "usd").toUpperCase(), amount ?? 0);
}
