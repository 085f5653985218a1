package com.acme.jobs

object Defaults {
  val USERS_TABLE = "acme-prod:core.users_v2"
}
