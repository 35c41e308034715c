// Switch a paid plan between its prices, showing what it costs first. Another interval
// (monthly to yearly) is a new plan through checkout: Flowglad keeps a subscription's
// interval when it is adjusted. The same interval (another quantity) is an adjustment.
import { useState } from "react";
import {
  cancelScheduledAdjustment,
  previewAdjust,
  previewIntervalChange,
  rememberCheckout,
  startIntervalChange,
} from "../api.js";
import { formatAmount, formatDate, priceLabel, switchablePrices } from "../pricing.js";

export function SwitchInterval({ billing, product, subscription, config }) {
  const [preview, setPreview] = useState(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const targets = switchablePrices(product, subscription);
  if (!targets.length || subscription.status === "cancellation_scheduled") return null;
  if (subscription.scheduledAdjustmentAt) {
    const current = (product.prices ?? []).find((p) => p.id === subscription.priceId);
    const keep = async () => {
      setBusy(true);
      setError(null);
      try {
        await cancelScheduledAdjustment(config.apiPrefix, subscription.id);
        await billing.reload();
      } catch (e) {
        setError(e.message);
      } finally {
        setBusy(false);
      }
    };
    return (
      <div className="switch">
        <p className="muted" data-testid="scheduled-change">
          Your plan changes on {formatDate(subscription.scheduledAdjustmentAt)}.
        </p>
        <button type="button" className="button secondary" disabled={busy} onClick={keep}
          data-testid="keep-current-price">
          Keep {current ? priceLabel(current) : "my current plan"}
        </button>
        {error && <p className="flash flash-error">{error}</p>}
      </div>
    );
  }

  const current = (product.prices ?? []).find((p) => p.id === subscription.priceId);
  const newInterval = (price) =>
    !current || price.intervalUnit !== current.intervalUnit || (price.intervalCount ?? 1) !== (current.intervalCount ?? 1);

  async function ask(price) {
    setBusy(true);
    setError(null);
    try {
      const data = newInterval(price)
        ? { interval: await previewIntervalChange(price.slug) }
        : await previewAdjust(config.apiPrefix, { subscriptionId: subscription.id, priceSlug: price.slug });
      setPreview({ price, data });
    } catch (e) {
      setError(e.message);
    } finally {
      setBusy(false);
    }
  }

  async function confirm() {
    setBusy(true);
    setError(null);
    if (preview.data.interval) {
      try {
        const { id, url } = await startIntervalChange(preview.price.slug);
        rememberCheckout(id);
        window.location.href = url;
      } catch (e) {
        setError(e.message);
        setBusy(false);
      }
      return;
    }
    try {
      const result = await billing.adjustSubscription({ subscriptionId: subscription.id, priceSlug: preview.price.slug });
      if (!result?.subscription) throw new Error("The plan change failed. Please try again.");
      setPreview(null);
    } catch (e) {
      setError(e.message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="switch" data-testid="switch-interval">
      {!preview &&
        targets.map((price) => (
          <button key={price.id} type="button" className="button secondary" disabled={busy}
            onClick={() => ask(price)} data-testid={`switch-to-${price.slug}`}>
            Switch to {priceLabel(price)}
          </button>
        ))}
      {preview && <PreviewPanel preview={preview} busy={busy} onConfirm={confirm} onCancel={() => setPreview(null)} />}
      {error && <p className="flash flash-error" data-testid="switch-error">{error}</p>}
    </div>
  );
}

function IntervalPanel({ price, change, busy, onConfirm, onCancel }) {
  if (!change.allowed) {
    return (
      <div className="confirm" data-testid="switch-preview">
        <p data-testid="switch-refused">This change cannot be made: {change.reason}</p>
        <button type="button" className="button secondary" onClick={onCancel}>Close</button>
      </div>
    );
  }
  const charge = formatAmount(change.chargeNow.amount, change.chargeNow.currency);
  return (
    <div className="confirm" data-testid="switch-preview">
      <p><strong>Switch to {priceLabel(price)}?</strong> A new billing interval starts a new plan.</p>
      <p data-testid="switch-charge">
        {charge} is charged now on the payment page; the new plan renews on {formatDate(change.renewsAt)}.
      </p>
      <p data-testid="switch-ends">
        Your current plan ends when you continue
        {change.unused && change.unused.amount > 0
          ? `; what is left of it until ${formatDate(change.currentPeriodEnd)} (${formatAmount(change.unused.amount, change.unused.currency)}) is not refunded`
          : ""}.
      </p>
      <div className="actions">
        <button type="button" className="button" disabled={busy} onClick={onConfirm} data-testid="switch-confirm">
          Continue to payment
        </button>
        <button type="button" className="button secondary" disabled={busy} onClick={onCancel}>
          Not now
        </button>
      </div>
    </div>
  );
}

function PreviewPanel({ preview, busy, onConfirm, onCancel }) {
  const { price, data } = preview;
  if (data.interval) {
    return <IntervalPanel price={price} change={data.interval} busy={busy} onConfirm={onConfirm} onCancel={onCancel} />;
  }
  if (!data.canAdjust) {
    return (
      <div className="confirm" data-testid="switch-preview">
        <p>This change cannot be made: {data.reason}</p>
        <button type="button" className="button secondary" onClick={onCancel}>Close</button>
      </div>
    );
  }
  const now = data.resolvedTiming === "immediately";
  return (
    <div className="confirm" data-testid="switch-preview">
      <p>
        <strong>Switch to {priceLabel(price)}?</strong>
      </p>
      {now ? (
        <p data-testid="switch-charge">
          {formatAmount(data.prorationAmount, price.currency)} is charged now for the rest of this billing
          period{data.paymentMethod?.last4 ? ` to the card ending ${data.paymentMethod.last4}` : ""}; then{" "}
          {priceLabel(price)}.
        </p>
      ) : (
        <p data-testid="switch-charge">
          Nothing is charged now. The switch takes effect on {formatDate(data.effectiveDate)}; then {priceLabel(price)}.
        </p>
      )}
      <div className="actions">
        <button type="button" className="button" disabled={busy} onClick={onConfirm} data-testid="switch-confirm">
          {now ? `Pay ${formatAmount(data.prorationAmount, price.currency)} and switch` : "Confirm switch"}
        </button>
        <button type="button" className="button secondary" disabled={busy} onClick={onCancel}>
          Not now
        </button>
      </div>
    </div>
  );
}
