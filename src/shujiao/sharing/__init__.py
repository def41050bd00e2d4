"""Delta Sharing (数据共享协议): file and table products served over the open Delta Sharing REST
protocol, so a buyer reads what it bought with the official ``delta-sharing`` client or Spark. One
share per contract, one profile (endpoint + bearer token) per contract."""
