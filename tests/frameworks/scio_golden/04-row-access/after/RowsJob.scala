package com.acme.jobs

import com.spotify.scio._
import com.spotify.scio.bigquery._
import com.spotify.scio.bigquery.types.BigQueryType
import magnolify.bigquery.TableRowType

// Field accesses on rows read from the old table, each attributed to its own source.
object RowsJob {
  @BigQueryType.fromTable("acme-prod:core.users_v2")
  class User

  @BigQueryType.fromTable("acme-prod:sales.orders")
  class Order

  @BigQueryType.toTable
  case class Result(country: String, email: String, users: Long)

  // TODO(data-migration users_v2): UserRecord.email is now email_address; UserRecord.country is now geo.country_code. See https://wiki.example.com/data/users-v2
  case class UserRecord(user_id: String, email: Option[String], country: Option[String])

  val userRecords = TableRowType[UserRecord]

  // TODO(data-migration users_v2): User.country is now geo.country_code. See https://wiki.example.com/data/users-v2
  def label(u: User): String = u.display_name.getOrElse("") + "/" + u.country.getOrElse("")

  def main(cmdlineArgs: Array[String]): Unit = {
    val (sc, args) = ContextAndArgs(cmdlineArgs)

    // TODO(data-migration users_v2): User.is_active is now status = 'ACTIVE'. See https://wiki.example.com/data/users-v2
    val users = sc.typedBigQuery[User]().filter(_.is_active.contains(true))
    // TODO(data-migration users_v2): User.country is now geo.country_code. See https://wiki.example.com/data/users-v2
    users
      .map(u => Result(u.country.getOrElse("??"), u.email_address.getOrElse(""), 1L))
      .saveAsTypedBigQueryTable(Table.Spec("acme-prod:reporting.users_by_country"))

    // TODO(data-migration users_v2): TableRow field "plan" is now subscription.plan. See https://wiki.example.com/data/users-v2
    sc.bigQueryTable(Table.Spec("acme-prod:core.users_v2"))
      .filter(r => r.getString("plan") == "pro")
      .map(r => (r.getString("email_address"), r.get("labels"), r.getString("user_id")))
      .saveAsTextFile(args("out") + "-tablerows")

    // TODO(data-migration users_v2): UserRecord.country is now geo.country_code. See https://wiki.example.com/data/users-v2
    sc.bigQueryTable(Table.Spec("acme-prod:core.users_v2"))
      .map(userRecords.from)
      .map(rec => rec.country.getOrElse(""))
      .saveAsTextFile(args("out") + "-magnolify")

    // bystanders: another table of the same dataset, typed writes, other tables' getters
    sc.typedBigQuery[Order]()
      .map(o => Result(o.country.getOrElse("??"), "", 1L))
      .saveAsTypedBigQueryTable(Table.Spec("acme-prod:reporting.orders_by_country"))
    sc.bigQueryTable(Table.Spec("acme-prod:core.users_archive"))
      .map(r => r.getString("country") + r.getString("email"))
      .saveAsTextFile(args("out") + "-archive")

    sc.run()
    ()
  }
}
