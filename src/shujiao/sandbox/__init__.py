"""The data sandbox (数据沙箱): buyers compute on a provider's data without seeing it
(原始数据不出域、数据可用不可见) — checked SQL, suppressed small groups, differential privacy with a
per-buyer budget, provider review — and private set intersection (隐私求交) between two members."""
