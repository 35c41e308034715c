// The billing page: every panel reads the same useBilling() state.
import { useBilling } from "@flowglad/react";
import { useEffect, useState } from "react";
import { forgetCheckout, rememberedCheckout, retrieveCheckoutSession } from "./api.js";
import { CurrentPlan } from "./components/CurrentPlan.jsx";
import { Invoices } from "./components/Invoices.jsx";
import { PaymentMethods } from "./components/PaymentMethods.jsx";
import { PlanCards } from "./components/PlanCards.jsx";
import { UsageMeters } from "./components/UsageMeters.jsx";

/** "paid" only when Flowglad says the checkout this browser was sent to succeeded. */
function useCheckoutOutcome(config) {
  const [outcome, setOutcome] = useState(null);
  useEffect(() => {
    const id = rememberedCheckout();
    if (!id || new URLSearchParams(window.location.search).get("checkout") !== "success") return;
    retrieveCheckoutSession(config.apiPrefix, id)
      .then((data) => {
        const status = data?.checkoutSession?.status;
        if (status === "succeeded") forgetCheckout();
        setOutcome(status === "succeeded" ? "paid" : "unpaid");
      })
      .catch(() => setOutcome(null));
  }, [config.apiPrefix]);
  return outcome;
}

export function BillingPage({ config }) {
  const billing = useBilling();
  const outcome = useCheckoutOutcome(config);
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
      {outcome === "paid" && (
        <p className="flash flash-success" role="status" data-testid="checkout-success">
          Thanks! Your payment went through.
        </p>
      )}
      {outcome === "unpaid" && (
        <p className="flash flash-info" role="status" data-testid="checkout-unpaid">
          The payment was not completed: nothing was charged.
        </p>
      )}
      <CurrentPlan billing={billing} config={config} />
      <PlanCards billing={billing} config={config} />
      <UsageMeters billing={billing} />
      <Invoices invoices={billing.invoices} />
      <PaymentMethods billing={billing} />
    </div>
  );
}
