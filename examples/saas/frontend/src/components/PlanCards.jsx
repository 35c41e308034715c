// One card per product, with a hosted-checkout button for each price on sale.
import { useState } from "react";
import { rememberCheckout } from "../api.js";
import { buyablePrices, planProducts, priceLabel, productOfSubscription } from "../pricing.js";

export function PlanCards({ billing, config }) {
  const [pending, setPending] = useState(null);
  const [error, setError] = useState(null);
  const current = productOfSubscription(billing.pricingModel, billing.currentSubscription);

  async function checkout(price) {
    setPending(price.id);
    setError(null);
    const target = price.slug ? { priceSlug: price.slug } : { priceId: price.id };
    const result = await billing.createCheckoutSession({
      ...target,
      successUrl: config.successUrl,
      cancelUrl: config.cancelUrl,
      autoRedirect: false,
    });
    if (result.error) {
      setError(result.error.json?.message ?? result.error.message ?? result.error.code ?? "Checkout failed.");
      setPending(null);
      return;
    }
    // Back from the hosted page, the billing page asks Flowglad whether it was paid.
    rememberCheckout(result.id);
    window.location.href = result.url;
  }

  return (
    <section className="card" id="plans" data-testid="plans">
      <h2>Plans and products</h2>
      <div className="plans">
        {planProducts(billing.pricingModel).map((product) => {
          const isCurrent = current?.id === product.id;
          const owned = billing.hasPurchased(product.slug);
          // The free default plan is where a cancelled plan ends: nothing to buy.
          const forSale = !isCurrent && !owned && !product.default;
          return (
            <article key={product.id} className={isCurrent ? "plan current" : "plan"}
              data-testid={`plan-${product.slug}`}>
              <h3>{product.name}</h3>
              {buyablePrices(product).map((price) => (
                <div key={price.id} className="price-row">
                  <span className="price">{priceLabel(price)}</span>
                  {forSale && (
                    <button type="button" className="button" disabled={pending !== null}
                      onClick={() => checkout(price)} data-testid={`checkout-${price.slug ?? price.id}`}>
                      {pending === price.id ? "Redirecting…" : price.type === "single_payment" ? "Buy" : "Upgrade"}
                    </button>
                  )}
                </div>
              ))}
              {product.description && <p className="muted">{product.description}</p>}
              <ul>
                {(product.features ?? []).map((f) => <li key={f.id ?? f.slug}>{f.name}</li>)}
              </ul>
              {isCurrent && <span className="badge">Current plan</span>}
              {owned && <span className="badge" data-testid={`purchased-${product.slug}`}>Purchased</span>}
            </article>
          );
        })}
      </div>
      {error && <p className="flash flash-error" data-testid="checkout-error">{error}</p>}
    </section>
  );
}
