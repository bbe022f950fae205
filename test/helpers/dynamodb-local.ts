/** DynamoDB Local's launcher lives in lib/local/pipeline (`trustctl pipeline` starts it too). */
export { dynamoDbLocalJar, startDynamoDbLocal, type DynamoDbLocal, type DynamoDbLocalOptions } from '../../lib/local/pipeline/dynamodb-local';
