package console

import "strings"

// sample is a query the Lake page offers, with the store picked on the page put in its FROM.
type sample struct {
	Title, Source, SQL string
}

// storePlaceholders are how the samples name the event data store they read.
var storePlaceholders = []string{"config_event_data_store_ID", "event_data_store_ID", "$EDS_ID", "<EDS ID>", "<EDS_ID>", "<store-id>"}

// forStore returns the sample"s SQL reading the store with ID id.
func (s sample) forStore(id string) string {
	var pairs []string
	for _, p := range storePlaceholders {
		pairs = append(pairs, p, id)
	}
	return strings.NewReplacer(pairs...).Replace(s.SQL)
}

// samples: first the question of the seed scenario (reference SCENARIOS.md §1) and a count of
// calls, then AWS"s published samples verbatim (reference cloudtrail.md §5.5; the two that need
// several stores are left out).
var samples = []sample{
	{"Events by identity type", "cairn", "SELECT userIdentity.type, count(*) FROM <store-id> GROUP BY userIdentity.type;"},
	{"Most frequent calls", "cairn", "SELECT eventName, count(*) AS calls FROM <store-id> GROUP BY 1 ORDER BY 2 DESC LIMIT 20"},
	{"CreateBucket calls on one day, by principal", "AWS user guide", `SELECT
    userIdentity.principalid,
    eventName
FROM
    event_data_store_ID
WHERE
    userIdentity.principalid IS NOT NULL
AND
    eventTime > '2023-01-22 00:00:00'
AND
    eventTime < '2023-01-23 00:00:00'
AND
    eventName='CreateBucket'`},
	{"What user bob did on one day", "AWS user guide", `SELECT
    eventID,
    eventName,
    eventSource,
    eventTime
FROM
    event_data_store_ID
WHERE
    userIdentity.username = 'bob'
AND
    eventTime > '2023-01-22 00:00:00'
AND
    eventTime < '2023-01-23 00:00:00'`},
	{"Calls by event source and name", "AWS user guide", `SELECT
    eventSource,
    eventName,
    COUNT(*) AS apiCount
FROM
    event_data_store_ID
WHERE
    eventTime > '2023-01-01 00:00:00'
GROUP BY
    eventSource, eventName
ORDER BY
    apiCount DESC`},
	{"Console sign-ins in us-east-1 and us-west-2", "AWS user guide", `SELECT
    eventTime,
    useridentity.arn,
    awsRegion
FROM
    event_data_store_ID
WHERE
    awsRegion in ('us-east-1', 'us-west-2')
AND
    eventName = 'ConsoleLogin'`},
	{"Lake queries run (StartQuery events)", "AWS user guide", `SELECT
    element_at(responseElements, 'queryId'),
    element_at(requestParameters, 'queryStatement')
FROM
    event_data_store_ID
WHERE
    eventName='StartQuery'
AND
    eventSource = 'cloudtrail.amazonaws.com'
AND
    responseElements IS NOT NULL
AND
    eventTime > '2023-01-01 00:00:00'
AND
    eventTime < '2023-02-01 00:00:00'`},
	{"Console sign-ins without MFA", "aws-samples/cloud-trail-lake-query-samples", `SELECT
    *
FROM
    $EDS_ID
WHERE
    eventsource = 'signin.amazonaws.com'
    AND eventname = 'ConsoleLogin'
    AND Element_at(additionaleventdata, 'MFAUsed'
    ) = 'No'`},
	{"Cross-account access", "aws-samples/cloud-trail-lake-query-samples", `SELECT
    userIdentity.principalid, eventName, eventSource, userIdentity.accountId, recipientAccountId, requestParameters, eventTime
FROM
    $EDS_ID
WHERE
    eventTime > '2022-04-30 00:00:00'
    AND eventTime < '2022-06-01 00:00:00'
    AND userIdentity.accountId != recipientAccountId`},
	{"Calls not using TLS 1.3", "aws-samples/cloud-trail-lake-query-samples", `SELECT
    eventName,  awsRegion,  sourceIPAddress,  recipientAccountId,  tlsDetails.tlsversion
FROM
    $EDS_ID
WHERE
    eventTime > '2022-01-01 00:00:00'
    AND eventTime < '2022-01-01 00:00:00'
    AND tlsDetails.tlsversion != 'TLSv1.3'`},
	{"Activity of one access key", "aws-samples/cloud-trail-lake-query-samples", `SELECT eventSource,eventName,sourceIPAddress,eventTime,errorCode
FROM <EDS ID>
WHERE userIdentity.accessKeyId = 'AKIAIOSFODNN7EXAMPLE'
AND eventTime > '2023-01-01 00:00:00' AND eventTime < '2023-01-07 00:00:00'
order by eventTime;`},
	{"Tag changes by resource", "aws-samples/cloud-trail-lake-query-samples", `SELECT
    awsRegion, eventSource, json_extract_scalar(eventjson, '$.requestParameters.resourcesSet.items[0].resourceId'
    ) as resourceId, eventTime, eventName, json_extract_scalar(eventjson, '$.requestParameters.tagSet.items[0].key'
    ) as key, json_extract_scalar(eventjson, '$.requestParameters.tagSet.items[0].value'
    ) as value, useridentity.arn as identityarn
from
    $EDS_ID
where
    eventTime > '2022-01-01 00:00:00'
    and eventName in ('CreateTags','DeleteTags'
    )order by resourceId,key,eventTime desc`},
	{"S3 buckets that need ACLs", "aws-samples/cloud-trail-lake-query-samples", `SELECT DISTINCT
    element_at(requestParameters, 'bucketName') AS Bucket,
    awsRegion AS Region,
    recipientAccountId AS AccountID
FROM
    <EDS_ID>
WHERE
    element_at(additionalEventData, 'aclRequired') = 'Yes'
ORDER BY
    recipientAccountId,
    awsRegion`},
	{"Data events by day of the week", "aws-samples/cloud-trail-lake-query-samples", `SELECT
    day_of_week(eventTime
    ) as weekday,  COUNT(*
    ) as eventCount
FROM
    $EDS_ID
WHERE
    eventTime > '2022-01-01 00:00:00'
    AND eventTime < '2022-01-01 00:00:00'
    AND eventCategory = 'Data'
GROUP
    BY day_of_week(eventTime
    )ORDER BY day_of_week(eventTime
    )`},
	{"SSM patch compliance of one instance (AWS Config store)", "aws-samples/cloud-trail-lake-query-samples", `SELECT
  replace(eventData.resourceId, 'AWS::SSM::ManagedInstanceInventory/') as InstanceId,eventData.accountId, eventData.awsRegion, eventTime,
  transform(filter(PatchResult, PatchItem -> cast(json_extract(PatchItem, '$.PatchState') as varchar) = 'Installed'), FoundItem -> json_extract(FoundItem, '$.Id')) as Installed,
  transform(filter(PatchResult, PatchItem -> cast(json_extract(PatchItem, '$.PatchState') as varchar) = 'InstalledOther'), FoundItem -> json_extract(FoundItem, '$.Id')) as InstalledOther,
  transform(filter(PatchResult, PatchItem -> cast(json_extract(PatchItem, '$.PatchState') as varchar) = 'InstalledPendingReboot'), FoundItem -> json_extract(FoundItem, '$.Id')) as InstalledPendingReboot,
  transform(filter(PatchResult, PatchItem -> cast(json_extract(PatchItem, '$.PatchState') as varchar) = 'Missing'), FoundItem -> json_extract(FoundItem, '$.Id')) as Missing,
  transform(filter(PatchResult, PatchItem -> cast(json_extract(PatchItem, '$.PatchState') as varchar) = 'Failed'), FoundItem -> json_extract(FoundItem, '$.Id')) as Failed
FROM (
    SELECT eventData, map_values(cast(json_extract(json_parse(eventJson), '$.eventData.configuration.AWS:ComplianceItem.Content.Patch') as map(varchar, json))) as PatchResult,
  eventTime
    FROM config_event_data_store_ID
    WHERE eventData.resourceType = 'AWS::SSM::PatchCompliance'
  AND replace(eventData.resourceId, 'AWS::SSM::ManagedInstanceInventory/') = '<instance id such as i-123456789012>'
) where PatchResult is not null;`},
}
