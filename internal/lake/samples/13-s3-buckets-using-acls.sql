SELECT DISTINCT
    element_at(requestParameters, 'bucketName') AS Bucket,
    awsRegion AS Region,
    recipientAccountId AS AccountID
FROM
    <EDS_ID> 
WHERE
    element_at(additionalEventData, 'aclRequired') = 'Yes'
ORDER BY
    recipientAccountId,
    awsRegion
