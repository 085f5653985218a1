package com.acme.shared

/** Every table the pipelines read, in one place. */
object Tables {
  val Users = "acme-prod:core.users_v2"
  val Orders = "acme-prod:sales.orders"
  val Archive = "acme-prod:core.users_archive"
}
