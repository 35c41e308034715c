// Entry point: mounts the billing page where the Flask template left room for it.
import { FlowgladProvider } from "@flowglad/react";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { BillingPage } from "./BillingPage.jsx";

const root = document.getElementById("billing-root");
// The server passes URLs and slugs as JSON so nothing here is hard-coded.
const config = JSON.parse(document.getElementById("billing-config").textContent);

createRoot(root).render(
  <StrictMode>
    <FlowgladProvider>
      <BillingPage config={config} />
    </FlowgladProvider>
  </StrictMode>,
);
