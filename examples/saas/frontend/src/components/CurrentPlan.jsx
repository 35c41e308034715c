// Current plan: its status, a monthly/yearly switch, cancel (after a confirmation) and uncancel.
import { useState } from "react";
import { formatDate, priceLabel, productOfSubscription, statusLabel } from "../pricing.js";
import { SwitchInterval } from "./SwitchInterval.jsx";

export function CurrentPlan({ billing, config }) {
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState(null);
  const subscription = billing.currentSubscription;
  const product = productOfSubscription(billing.pricingModel, subscription);

  if (!subscription) {
    return (
      <section className="card" data-testid="current-plan">
        <h2>Current plan</h2>
        <p>No active plan.</p>
      </section>
    );
  }

  const price = (product?.prices ?? []).find((p) => p.id === subscription.priceId);
  const scheduled = subscription.status === "cancellation_scheduled";
  // A free default plan is not something to cancel; a paid one is.
  const cancellable = !scheduled && !product?.default && subscription.status !== "canceled";

  async function run(action) {
    setBusy(true);
    setError(null);
    try {
      const { subscription: result } = await action();
      // useBilling resolves even on failure (it logs); no data means it failed.
      if (!result) setError("The request failed. Please try again.");
    } catch (e) {
      setError(e.message);
    } finally {
      setBusy(false);
    }
  }

  const cancel = () =>
    run(() =>
      billing.cancelSubscription({
        id: subscription.id,
        cancellation: { timing: "at_end_of_current_billing_period" },
      }),
    );
  const uncancel = () => run(() => billing.uncancelSubscription({ id: subscription.id }));
  const periodEnd = formatDate(subscription.currentBillingPeriodEnd);

  return (
    <section className="card" data-testid="current-plan">
      <h2>Current plan</h2>
      <p className="plan-name">
        <strong data-testid="current-plan-name">{product?.name ?? subscription.name ?? "Plan"}</strong>{" "}
        <span className={`badge status-${subscription.status}`} data-testid="subscription-status"
          title={subscription.status}>{statusLabel(subscription.status)}</span>
      </p>
      {price && <p className="muted" data-testid="current-price">{priceLabel(price)}</p>}
      {scheduled ? (
        <p data-testid="cancel-notice">
          Cancels on {formatDate(subscription.cancelScheduledAt ?? subscription.currentBillingPeriodEnd)}.
        </p>
      ) : (
        subscription.currentBillingPeriodEnd && (
          <p className="muted">Renews on {formatDate(subscription.currentBillingPeriodEnd)}.</p>
        )
      )}
      <SwitchInterval billing={billing} product={product} subscription={subscription} config={config} />
      {confirming ? (
        <div className="confirm" data-testid="cancel-confirm">
          <p>
            <strong>Cancel {product?.name ?? "your plan"}?</strong> You keep it until {periodEnd}; after that
            you are on the free plan and are not charged again.
          </p>
          <div className="actions">
            <button type="button" className="button danger" disabled={busy}
              onClick={() => { setConfirming(false); cancel(); }} data-testid="cancel-confirm-yes">
              Yes, cancel at period end
            </button>
            <button type="button" className="button secondary" disabled={busy}
              onClick={() => setConfirming(false)} data-testid="cancel-confirm-no">
              Keep my plan
            </button>
          </div>
        </div>
      ) : (
        <div className="actions">
          {cancellable && (
            <button type="button" className="button secondary" disabled={busy} onClick={() => setConfirming(true)}
              data-testid="cancel-subscription">
              Cancel plan…
            </button>
          )}
          {scheduled && (
            <button type="button" className="button" disabled={busy} onClick={uncancel}
              data-testid="uncancel-subscription">
              Keep my plan
            </button>
          )}
        </div>
      )}
      {error && <p className="flash flash-error">{error}</p>}
    </section>
  );
}
