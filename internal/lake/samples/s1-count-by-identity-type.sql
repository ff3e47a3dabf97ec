SELECT userIdentity.type, count(*) FROM <table> GROUP BY userIdentity.type;
