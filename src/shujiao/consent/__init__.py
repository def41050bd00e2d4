"""Personal data authorization (个人数据授权, 一场景一授权): persons, the scenarios products declare,
consents with signed receipts, and the check every delivery of personal data goes through."""
