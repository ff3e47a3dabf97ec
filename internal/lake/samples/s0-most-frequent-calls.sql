SELECT eventName, count(*) AS calls FROM <table> GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 20
