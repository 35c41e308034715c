// The billing page: every panel reads the same useBilling() state.
import { useBilling } from "@flowglad/react";
import { useEffect } from "react";
import { CurrentPlan } from "./components/CurrentPlan.jsx";
import { Invoices } from "./components/Invoices.jsx";
import { PaymentMethods } from "./components/PaymentMethods.jsx";
import { PlanCards } from "./components/PlanCards.jsx";
import { UsageMeters } from "./components/UsageMeters.jsx";

export function BillingPage({ config }) {
  const billing = useBilling();
  const ready = billing.loaded && Boolean(billing.customer);
  // A link to /billing#plans arrives before React has drawn #plans, so the browser's own
  // jump to the anchor finds nothing: jump once the page is there.
  useEffect(() => {
    if (!ready || !window.location.hash) return;
    const target = document.getElementById(decodeURIComponent(window.location.hash.slice(1)));
    target?.scrollIntoView();
  }, [ready]);
  if (!billing.loaded) {
    return <p className="muted" data-testid="billing-loading">Loading billing…</p>;
  }
  if (billing.errors) {
    return (
      <div className="flash flash-error" data-testid="billing-error">
        Billing could not be loaded: {billing.errors.map((e) => e.message).join("; ")}
      </div>
    );
  }
  if (!billing.customer) {
    return <p data-testid="billing-anonymous">Log in to see your billing.</p>;
  }
  return (
    <div className="billing" data-testid="billing-loaded">
      <CurrentPlan billing={billing} config={config} />
      <PlanCards billing={billing} config={config} />
      <UsageMeters billing={billing} />
      <Invoices invoices={billing.invoices} />
      <PaymentMethods billing={billing} />
    </div>
  );
}
