// Saved payment methods and the hosted billing portal.
function describe(method) {
  const data = method.paymentMethodData ?? {};
  const brand = data.brand ?? method.type;
  return data.last4 ? `${brand} •••• ${data.last4}` : brand;
}

export function PaymentMethods({ billing }) {
  const methods = billing.paymentMethods ?? [];
  return (
    <section className="card" data-testid="payment-methods">
      <h2>Payment methods</h2>
      {methods.length === 0 ? (
        <p className="muted">No payment method on file.</p>
      ) : (
        <ul>
          {methods.map((m) => (
            <li key={m.id} data-testid="payment-method">
              {describe(m)} {m.default && <span className="badge">default</span>}
            </li>
          ))}
        </ul>
      )}
      {billing.billingPortalUrl && (
        <p>
          <a className="button secondary" data-testid="billing-portal"
            href={`${billing.billingPortalUrl}?return_to=${encodeURIComponent(window.location.href)}`}>
            Open billing portal
          </a>
        </p>
      )}
    </section>
  );
}
