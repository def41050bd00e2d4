"""API products through the exchange gateway (API 网关): a provider's upstream HTTP API, called by the
buyer of a contract with its own API key at ``/gateway/{contract}/{path}``; every call checked
(policy, quota per period, rate per second), forwarded with the provider's secret, metered, and
billed at period end (对账单)."""
