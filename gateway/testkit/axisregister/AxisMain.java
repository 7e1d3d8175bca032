// AxisMain runs Axis's SimpleAxisServer on the loopback address only (its
// own main listens on every interface), with the deployment in the working
// folder's server-config.wsdd.
//
//   java -cp AXIS_JARS:classes AxisMain PORT
import java.net.InetAddress;
import java.net.ServerSocket;
import org.apache.axis.transport.http.SimpleAxisServer;

public class AxisMain {
    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        SimpleAxisServer server = new SimpleAxisServer();
        server.setServerSocket(new ServerSocket(port, 50, InetAddress.getLoopbackAddress()));
        server.start(false);
        System.err.println("listening on 127.0.0.1:" + port);
    }
}
