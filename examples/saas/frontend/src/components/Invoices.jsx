// Invoices from the billing payload, newest first.
import { humanReadableCurrencyAmount } from "@flowglad/react";
import { formatDate } from "../pricing.js";

function invoiceTotal({ invoice, invoiceLineItems }) {
  if (typeof invoice.subtotal === "number") return invoice.subtotal + (invoice.taxAmount ?? 0);
  return (invoiceLineItems ?? []).reduce(
    (sum, item) => sum + (item.price?.unitPrice ?? 0) * (item.quantity ?? 1), 0);
}

export function Invoices({ invoices }) {
  const rows = [...(invoices ?? [])].sort((a, b) => (b.invoice.createdAt ?? 0) - (a.invoice.createdAt ?? 0));
  return (
    <section className="card" data-testid="invoices">
      <h2>Invoices</h2>
      {rows.length === 0 ? (
        <p className="muted">No invoices yet.</p>
      ) : (
        <table>
          <thead>
            <tr><th>Number</th><th>Date</th><th>Status</th><th>Total</th><th /></tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.invoice.id} data-testid="invoice-row">
                <td className="wrap">{row.invoice.invoiceNumber}</td>
                <td className="nowrap">{formatDate(row.invoice.invoiceDate ?? row.invoice.createdAt)}</td>
                <td><span className="badge">{row.invoice.status}</span></td>
                <td className="nowrap">
                  {humanReadableCurrencyAmount((row.invoice.currency ?? "usd").toUpperCase(), invoiceTotal(row))}
                </td>
                <td>{row.invoice.pdfURL && <a href={row.invoice.pdfURL}>PDF</a>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
