package com.acme.jobs

import com.spotify.scio._
import com.spotify.scio.bigquery._
import com.spotify.scio.bigquery.types.BigQueryType

// Legacy SQL: the table is retargeted in its own [project:dataset.table] form.
object LegacyJob {
  // plain renames in a one-table query: exact, rewritten (output names kept with AS)
  @BigQueryType.fromQuery(
    "#legacySQL\nSELECT user_id, email, full_name FROM [acme-prod:core.users_v1] WHERE last_login IS NOT NULL"
  )
  class Contact

  // moved and computed columns: the table is retargeted, the columns are left to a human
  @BigQueryType.fromQuery("SELECT country, is_active FROM [acme-prod:core.users_v1] WHERE is_active")
  class Row

  @BigQueryType.fromStorage(
    "acme-prod:core.users_v1",
    selectedFields = List("user_id", "email")
  )
  class Stored

  def main(cmdlineArgs: Array[String]): Unit = {
    val (sc, args) = ContextAndArgs(cmdlineArgs)
    // r is a Row, s a Stored: each access is put on its own class
    sc.typedBigQuery[Row]().map(r => r.country.getOrElse("??")).saveAsTextFile(args("out"))
    sc.typedBigQuery[Stored]().map(s => s.email.getOrElse("")).saveAsTextFile(args("out"))
    sc.typedBigQuery[Contact]().map(c => c.email.getOrElse("")).saveAsTextFile(args("out"))

    // a legacy join: gaggle cannot tell which side a column belongs to
    sc.bigQuerySelect(Query("""#legacySQL
      SELECT u.user_id, u.tags, o.amount_usd
      FROM [acme-prod:core.users_v1] AS u
      JOIN [acme-prod:sales.orders] AS o ON u.user_id = o.user_id"""))
      .saveAsTextFile(args("out") + "-join")

    // legacy ORDER BY names output columns: renaming there would not be exact
    sc.bigQuerySelect(Query("SELECT user_id, last_login FROM [acme-prod:core.users_v1] ORDER BY last_login"))
      .saveAsTextFile(args("out") + "-recent")

    // another table of the same dataset is a bystander
    sc.bigQuerySelect(Query("SELECT user_id, email FROM [acme-prod:core.users_archive]"))
      .saveAsTextFile(args("out") + "-archive")

    sc.run()
    ()
  }
}
