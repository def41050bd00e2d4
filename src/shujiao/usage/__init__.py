"""Usage control (用量控制, 可控可计量): what a buyer may do with what it bought, and the check at every
delivery point. A product carries an offer (ODRL ``Offer``: pricing plan + usage terms); paying an
order turns it into a contract (ODRL ``Agreement``) that file downloads, the API gateway and the
Delta Sharing server all consult through :func:`shujiao.usage.service.authorize_use`."""
