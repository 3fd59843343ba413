// Runs DynamoDB Local listening on one address only (127.0.0.1 unless DYNAMODB_LOCAL_HOST says
// otherwise). DynamoDBLocal.jar has no option for it: its Jetty server is built with a port
// alone, which binds every interface. This does what the jar's own main does, and sets the
// host on Jetty's connector before the server starts. Arguments are DynamoDBLocal.jar's.
// Started by scripts/dynamodb-local, with the jar on the class path.

import java.lang.reflect.Field;

import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

public final class DynamoDBLocalLoopback {
    public static void main(String[] args) throws Exception {
        String host = System.getenv().getOrDefault("DYNAMODB_LOCAL_HOST", "127.0.0.1");
        DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
        Field field = DynamoDBProxyServer.class.getDeclaredField("server");
        field.setAccessible(true);
        Server jetty = (Server) field.get(proxy);
        Connector[] connectors = jetty.getConnectors();
        if (connectors.length == 0) {
            throw new IllegalStateException("DynamoDB Local's server has no connector to bind");
        }
        for (Connector connector : connectors) {
            ((ServerConnector) connector).setHost(host);
        }
        proxy.start();
        System.out.println("DynamoDB Local listening on " + host);
    }
}
