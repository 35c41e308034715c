// Switch a paid plan between its prices (monthly ↔ yearly), showing what it costs first.
import { useState } from "react";
import { cancelScheduledAdjustment, previewAdjust } from "../api.js";
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

  async function ask(price) {
    setBusy(true);
    setError(null);
    try {
      const data = await previewAdjust(config.apiPrefix, { subscriptionId: subscription.id, priceSlug: price.slug });
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

function PreviewPanel({ preview, busy, onConfirm, onCancel }) {
  const { price, data } = preview;
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
