// Flowglad's own React SDK, mounted for a test: the billing object and the resources hook
// are exposed on window so the browser test can call them as an app's components would.
import { FlowgladProvider, useBilling, useResources } from '@flowglad/react'
import { createRoot } from 'react-dom/client'

const user = new URLSearchParams(window.location.search).get('user') ?? ''

function Expose() {
  const billing = useBilling()
  const resources = useResources()
  window.fidelity = { billing, resources, renders: (window.fidelity?.renders ?? 0) + 1 }
  const plan = billing.loaded && billing.currentSubscription ? billing.currentSubscription.name : ''
  return (
    <p id="state" data-loaded={String(billing.loaded)} data-plan={plan}>
      {billing.loaded ? `loaded: ${plan}` : 'loading'}
    </p>
  )
}

createRoot(document.getElementById('root')).render(
  <FlowgladProvider requestConfig={{ headers: { 'X-User': user } }}>
    <Expose />
  </FlowgladProvider>,
)
