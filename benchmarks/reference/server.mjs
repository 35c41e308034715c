// Flowglad's own server SDK (@flowglad/server) behind Express: the baseline of benchmarks/.
//
// Configured only by the environment the benchmark sets:
//   PORT                  port to listen on (127.0.0.1 only)
//   FLOWGLAD_SECRET_KEY   the sandbox's secret key
//   FLOWGLAD_BASE_URL     the sandbox's URL, e.g. http://127.0.0.1:5123
// The customer is the value of the X-User header, as in the Flask app it is compared with.
import express from 'express'
import { FlowgladServer } from '@flowglad/server'
import { expressRouter } from '@flowglad/server/express'

const port = Number(process.env.PORT)
const apiKey = process.env.FLOWGLAD_SECRET_KEY
const baseURL = process.env.FLOWGLAD_BASE_URL

const app = express()
app.use(express.json())
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
