// Current plan with cancel-at-period-end and uncancel.
import { useState } from "react";
import { formatDate, priceLabel, productOfSubscription } from "../pricing.js";

export function CurrentPlan({ billing }) {
  const [busy, setBusy] = useState(false);
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

  return (
    <section className="card" data-testid="current-plan">
      <h2>Current plan</h2>
      <p className="plan-name">
        <strong data-testid="current-plan-name">{product?.name ?? subscription.name ?? "Plan"}</strong>{" "}
        <span className="badge" data-testid="subscription-status">{subscription.status}</span>
      </p>
      {price && <p className="muted">{priceLabel(price)}</p>}
      {scheduled ? (
        <p data-testid="cancel-notice">
          Cancels on {formatDate(subscription.cancelScheduledAt ?? subscription.currentBillingPeriodEnd)}.
        </p>
      ) : (
        subscription.currentBillingPeriodEnd && (
          <p className="muted">Renews on {formatDate(subscription.currentBillingPeriodEnd)}.</p>
        )
      )}
      <div className="actions">
        {cancellable && (
          <button type="button" className="button secondary" disabled={busy} onClick={cancel}
            data-testid="cancel-subscription">
            Cancel at period end
          </button>
        )}
        {scheduled && (
          <button type="button" className="button" disabled={busy} onClick={uncancel}
            data-testid="uncancel-subscription">
            Keep my plan
          </button>
        )}
      </div>
      {error && <p className="flash flash-error">{error}</p>}
    </section>
  );
}
