// Flowglad's own server SDK (@flowglad/server) behind Express, with the sandbox as its
// Flowglad, and a page that runs Flowglad's own React SDK: the fidelity test's app.
//
// Configured only by the environment the test sets:
//   PORT                  port to listen on (127.0.0.1 only)
//   FLOWGLAD_SECRET_KEY   the sandbox's secret key
//   FLOWGLAD_BASE_URL     the sandbox's URL, e.g. http://127.0.0.1:5123
// The customer is the value of the X-User header (the page sends its ?user= parameter),
// standing in for an app's login.
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import express from 'express'
import { FlowgladServer } from '@flowglad/server'
import { expressRouter } from '@flowglad/server/express'

const here = path.dirname(fileURLToPath(import.meta.url))
const port = Number(process.env.PORT)
const apiKey = process.env.FLOWGLAD_SECRET_KEY
const baseURL = process.env.FLOWGLAD_BASE_URL

const page = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Fidelity</title>
<link rel="icon" href="data:,"></head>
<body><div id="root"></div><script type="module" src="/page.js"></script></body></html>`

const app = express()
app.use(express.json())
app.get('/', (req, res) => res.type('html').send(page))
app.get('/page.js', (req, res) => res.sendFile(path.join(here, 'dist', 'page.js')))
app.use(
  '/api/flowglad',
  expressRouter({
    apiKey,
    baseURL,
    getCustomerExternalId: async (req) => {
      const user = req.get('X-User')
      if (!user) throw new Error('User not authenticated')
      return user
    },
    flowglad: (customerExternalId) =>
      new FlowgladServer({
        customerExternalId,
        apiKey,
        baseURL,
        getCustomerDetails: async (id) => ({ name: `User ${id}`, email: `${id}@example.com` }),
      }),
  }),
)

const server = app.listen(port, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${port}`)
})
process.on('SIGTERM', () => server.close(() => process.exit(0)))
