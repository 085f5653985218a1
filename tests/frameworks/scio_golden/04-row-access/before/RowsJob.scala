package com.acme.jobs

import com.spotify.scio._
import com.spotify.scio.bigquery._
import com.spotify.scio.bigquery.types.BigQueryType
import magnolify.bigquery.TableRowType

// Field accesses on rows read from the old table, each attributed to its own source.
object RowsJob {
  @BigQueryType.fromTable("acme-prod:core.users_v1")
  class User

  @BigQueryType.fromTable("acme-prod:sales.orders")
  class Order

  @BigQueryType.toTable
  case class Result(country: String, email: String, users: Long)

  case class UserRecord(user_id: String, email: Option[String], country: Option[String])

  val userRecords = TableRowType[UserRecord]

  def label(u: User): String = u.full_name.getOrElse("") + "/" + u.country.getOrElse("")

  def main(cmdlineArgs: Array[String]): Unit = {
    val (sc, args) = ContextAndArgs(cmdlineArgs)

    val users = sc.typedBigQuery[User]().filter(_.is_active.contains(true))
    users
      .map(u => Result(u.country.getOrElse("??"), u.email.getOrElse(""), 1L))
      .saveAsTypedBigQueryTable(Table.Spec("acme-prod:reporting.users_by_country"))

    sc.bigQueryTable(Table.Spec("acme-prod:core.users_v1"))
      .filter(r => r.getString("plan") == "pro")
      .map(r => (r.getString("email"), r.get("tags"), r.getString("user_id")))
      .saveAsTextFile(args("out") + "-tablerows")

    sc.bigQueryTable(Table.Spec("acme-prod:core.users_v1"))
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
