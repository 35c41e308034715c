// Usage-meter balances, fetched with the SDK's own useUsageMeters hook.
import { useUsageMeters } from "@flowglad/react";
import { formatCount } from "../pricing.js";

export function UsageMeters({ billing }) {
  // Keyed by subscription so a plan change refetches the balances.
  const subscriptionId = billing.currentSubscription?.id;
  const { usageMeters, isLoading, error } = useUsageMeters(subscriptionId ? { subscriptionId } : {});
  return (
    <section className="card" data-testid="usage-meters">
      <h2>Usage</h2>
      {isLoading && <p className="muted">Loading usage…</p>}
      {error && <p className="flash flash-error">{error.message}</p>}
      {usageMeters && usageMeters.length === 0 && <p className="muted">No usage meters on this plan.</p>}
      {usageMeters && usageMeters.length > 0 && (
        <table>
          <thead>
            <tr><th>Meter</th><th>Available</th></tr>
          </thead>
          <tbody>
            {usageMeters.map((meter) => (
              <tr key={`${meter.subscriptionId}-${meter.id}`}>
                <td>{meter.name}</td>
                <td data-testid={`usage-balance-${meter.slug}`}>{formatCount(meter.availableBalance)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
